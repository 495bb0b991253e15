"""pysix.overlaycompat.prepare: the v2 paths for each shape of /var/run an image may have."""
import os

from pysix import overlaycompat


def _prep(root):
    said = []
    rundir = os.path.join(root, "run", "pysix")
    os.makedirs(rundir)
    scandir = overlaycompat.scandir(root, rundir, said.append)
    overlaycompat.prepare(root, rundir, scandir, said.append)
    return scandir, said


def test_no_var_run_gets_a_link_and_stale_codes_go(tmp):
    os.makedirs(os.path.join(tmp, "run", "s6", "env-stage3"))
    with open(os.path.join(tmp, "run", "s6", "env-stage3", "S6_STAGE2_EXITED"), "w") as f:
        f.write("9")
    scandir, said = _prep(tmp)
    assert scandir == os.path.join(tmp, "run", "s6", "services") and said == []
    assert os.listdir(os.path.join(tmp, "var", "run", "s6", "env-stage3")) == []
    assert os.path.samefile(os.path.join(tmp, "var", "run", "s6", "services"), scandir)
    assert os.path.samefile(os.path.join(tmp, "run", "pysix", "services"), scandir)
    assert os.readlink(os.path.join(tmp, "run", "s6", "container_environment")) == \
        os.path.join(tmp, "run", "pysix", "container_environment")


def test_var_run_linked_to_slash_run_is_read_inside_root(tmp):
    os.makedirs(os.path.join(tmp, "var"))
    os.symlink("/run", os.path.join(tmp, "var", "run"))     # as Debian and Alpine ship it
    scandir, said = _prep(tmp)
    assert said == [] and not os.path.lexists(os.path.join(tmp, "run", "s6", "s6"))


def test_a_shipped_var_run_s6_dir_gets_links_inside(tmp):
    vs6 = os.path.join(tmp, "var", "run", "s6")
    os.makedirs(os.path.join(vs6, "services", "stale"))
    scandir, said = _prep(tmp)
    for name in ("services", "container_environment", "env-stage3"):
        assert os.readlink(os.path.join(vs6, name)) == os.path.join(tmp, "run", "s6", name)


def test_var_run_linked_elsewhere_is_reported(tmp):
    os.makedirs(os.path.join(tmp, "var"))
    os.symlink("/somewhere", os.path.join(tmp, "var", "run"))
    _, said = _prep(tmp)
    assert said == ["warning: %s/var/run links to /somewhere, not /run: /var/run/s6 is not set up" % tmp]


def test_a_symlink_in_place_of_the_scan_dir_is_refused_never_followed(tmp):
    os.makedirs(os.path.join(tmp, "run", "s6"))
    os.makedirs(os.path.join(tmp, "elsewhere"))
    os.symlink(os.path.join(tmp, "elsewhere"), os.path.join(tmp, "run", "s6", "services"))
    scandir, said = _prep(tmp)
    assert scandir == os.path.join(tmp, "run", "pysix", "services") and not os.path.islink(scandir)
    assert said == ["warning: refusing %s/run/s6/services: it is a symlink (pysix never follows one there); "
                    "remove it: the s6-overlay paths /var/run/s6/services, /var/run/s6/container_environment "
                    "and env-stage3 are missing; using %s/run/pysix/services" % (tmp, tmp)]
