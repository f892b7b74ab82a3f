from django.urls import reverse


def test_schema_documents_gunicorns_414_on_every_operation(db, superadmin, make_client):
    schema = make_client(superadmin).get(reverse("schema"), HTTP_ACCEPT="application/json").json()

    operations = [op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert operations
    assert all("414" in op["responses"] for op in operations)
    assert schema["paths"]["/api/v1/threads/"]["get"]["responses"]["414"]["content"] == {
        "text/html": {"schema": {"type": "string"}}
    }
