# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The error every part of the LDAP package raises."""


class LdapClientError(Exception):
    """A connection or directory problem, with a message meant for the administrator."""
