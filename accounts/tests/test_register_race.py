import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import User


@pytest.mark.django_db
def test_user_create_reports_email_taken_when_the_unique_index_catches_a_race(monkeypatch):
    services.user_create(email="race@example.com", password="correct-horse-battery-staple")
    # Simulate the other request having passed the existence check before this row was committed.
    monkeypatch.setattr(services, "_ensure_email_free", lambda email, exclude=None: None)

    with pytest.raises(ValidationError) as excinfo:
        services.user_create(email="RACE@example.com", password="correct-horse-battery-staple")

    assert excinfo.value.error_dict["email"][0].code == "email_taken"
    assert User.objects.filter(email__iexact="race@example.com").count() == 1
