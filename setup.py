# The metadata lives in setup.cfg; this shim only lists bin/ so that every
# command added there is installed without editing a shared list.
import glob

from setuptools import setup

setup(scripts=sorted(glob.glob("bin/*")))
