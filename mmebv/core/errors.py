"""The errors of the EBV core (a user can act on each)."""


class EBVFileError(ValueError):
    """An EBV file is missing, unreadable or does not match what is needed."""


class InvalidEBVError(EBVFileError):
    """An EBV set is not valid: a value is not finite, a row is not
    unit-norm or two rows coincide (see :func:`~.validation.check_ebvs`)."""
