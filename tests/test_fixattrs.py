"""pysix.fixattrs: s6-overlay v2's fix-attrs.d format, parsed and applied."""
import os
import pwd

import pytest

from pysix import fixattrs

ROOT_ONLY = pytest.mark.skipif(os.getuid() != 0, reason="chown to other users needs root")
NOBODY = pwd.getpwnam("nobody")


def test_parse_good_lines_blank_and_comments():
    rules, errors = fixattrs.parse("\n# a comment\n/var/x true nobody 0640 0750\n"
                                   "/tmp/y\tfalse\t0:0,5:5\t-\t-\n", "f")
    assert errors == []
    assert rules[0] == fixattrs.Rule("f line 3", "/var/x", True, NOBODY.pw_uid, NOBODY.pw_gid, 0o640, 0o750)
    assert rules[1][1:] == ("/tmp/y", False, 0, 0, None, None)


@pytest.mark.parametrize("line,msg", [
    ("/a true root 0644", "f line 1: want 5 fields `path recurse account fmode dmode`, got 4"),
    ("/a yes root 0644 0755", "f line 1: recurse must be true or false, not 'yes'"),
    ("/a true root 0999 0755", "f line 1: '0999' is not an octal mode (or -)"),
    ("/a true nosuchuser 0644 0755", "f line 1: account 'nosuchuser': unknown user 'nosuchuser' and no ,uid:gid fallback"),
    ("/a true root:nosuchgroup 0644 0755", "f line 1: account 'root:nosuchgroup': unknown group 'nosuchgroup' and no ,uid:gid fallback"),
    ("/a true x,1:b 0644 0755", "f line 1: account 'x,1:b': fallback '1:b' is not uid:gid"),
])
def test_one_clear_line_per_bad_entry(line, msg):
    assert fixattrs.parse(line + "\n", "f") == ([], [msg])


def test_accounts_names_numbers_and_fallbacks():
    r = fixattrs.resolve_account
    assert r("root") == ((0, 0), "")
    assert r("nobody:nogroup") == ((NOBODY.pw_uid, NOBODY.pw_gid), "")
    assert r("1234:5678") == ((1234, 5678), "")
    assert r("nosuch:nosuch,1000:1001") == ((1000, 1001), "")
    assert r("nobody:nosuch,1000:1001") == ((NOBODY.pw_uid, 1001), "")


@ROOT_ONLY
def test_apply_dir_recurses_skips_hidden_and_links_and_goes_on_after_bad_lines(tmp):
    data = os.path.join(tmp, "var", "lib", "app")
    os.makedirs(os.path.join(data, "sub"))
    for fn in ("a", "sub/b", ".hidden"):
        open(os.path.join(data, fn), "w").close()
    os.symlink("/etc/passwd", os.path.join(data, "link"))
    fixd = os.path.join(tmp, "etc", "fix-attrs.d")
    os.makedirs(fixd)
    with open(os.path.join(fixd, "01-app"), "w") as f:
        f.write("/var/lib/app true nobody 0600 0710\n/var/lib/nothing* true root 0600 0700\nbad line\n")
    count, errors = fixattrs.apply_dir(fixd, tmp)
    assert count == 2 and errors == [fixd + "/01-app line 3: want 5 fields `path recurse account fmode dmode`, got 2"]
    for fn, mode in (("", 0o710), ("sub", 0o710), ("a", 0o600), ("sub/b", 0o600)):
        st = os.stat(os.path.join(data, fn))
        assert (st.st_uid, st.st_mode & 0o7777) == (NOBODY.pw_uid, mode), fn
    assert os.stat(os.path.join(data, ".hidden")).st_uid == 0
    assert os.stat("/etc/passwd").st_uid == 0
    assert fixattrs.apply_dir(fixd, tmp, hidden=True)[0] == 2
    assert os.stat(os.path.join(data, ".hidden")).st_uid == NOBODY.pw_uid
