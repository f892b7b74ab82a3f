from django.urls import reverse


def test_health_ok(db, api_client):
    response = api_client.get(reverse("api:health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_login_and_me(api_client, free_user, password):
    response = api_client.post(reverse("api:auth:login"), {"email": free_user.email.upper(), "password": password})
    assert response.status_code == 200, response.json()
    access = response.json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = api_client.get(reverse("api:user-me"))
    assert me.status_code == 200
    assert me.json()["email"] == free_user.email


def test_schema_generates(db, api_client):
    response = api_client.get(reverse("schema"))
    assert response.status_code == 200


def test_the_api_has_no_format_suffix_routes(make_client, free_user):
    # JSON is the only format; "/users/me.json"-style twins of every route would only lengthen URL resolution.
    response = make_client(free_user).get(reverse("api:user-me").rstrip("/") + ".json")

    assert response.status_code == 404
