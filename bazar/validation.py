"""Input validation shared by the API views."""


def validated(serializer_class, request, **kwargs) -> dict:
    """Validate the request body with `serializer_class` (extra kwargs such as `partial=True` or `context` go to it).

    Invalid input raises DRF's ValidationError, which the API answers 400 in the one error format.
    """
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
