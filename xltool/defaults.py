"""What xltool uses when nobody says otherwise: the store's file and the form profile.

Kept apart from the modules that use them, and importing nothing, so that the
command line shows them in its help without loading those modules.
"""

DEFAULT_STORE = "xltool.db"
DEFAULT_PROFILE = "ningxia-2021"
