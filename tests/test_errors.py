import pytest

from regrow import errors


def test_every_error_derives_from_regrow_error():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.RegrowError), name


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (errors.InputError, 422),
        (errors.NotFoundError, 404),
        (errors.PermissionDeniedError, 403),
        (errors.RuleBlockedError, 409),
        (errors.DuplicateError, 409),
        (errors.TooFewStudiesError, 422),
    ],
)
def test_http_status_mapping(cls, status):
    assert cls.http_status == status


def test_invalid_names_field_value_and_allowed():
    exc = errors.InputError.invalid("rho", 1.5, "in [0.0, 1.0]")
    assert str(exc) == "Invalid rho 1.5; must be in [0.0, 1.0]."
    assert exc.to_dict() == {
        "error": {"code": "invalid", "message": str(exc), "field": "rho", "allowed": "in [0.0, 1.0]"}
    }
