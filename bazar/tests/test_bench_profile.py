"""make bench's py-spy profile: each sample goes to the innermost region of the request it was taken in."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "bench"))
import spy_profile

WORKER = (
    'process 1:"gunicorn -c gunicorn.conf.py";process 2:"gunicorn -c gunicorn.conf.py"'
    ";Thread._bootstrap (threading.py:1)"
    ";ThreadWorker.handle (gunicorn/workers/gthread.py:553)"
)
HANDLER = f"{WORKER};WSGIHandler.__call__ (django/core/handlers/wsgi.py:124)"
MIDDLEWARE = f"{HANDLER};request_log_middleware.<locals>.middleware (bazar/logging.py:293)"
VIEW = (
    f"{MIDDLEWARE};BaseHandler._get_response (django/core/handlers/base.py:197)"
    ";APIView.dispatch (rest_framework/views.py:512)"
)
AUTH = (
    f"{VIEW};Request._authenticate (rest_framework/request.py:395)"
    ";JWTAuthentication.authenticate (accounts/authentication.py:70)"
)
REDIS = f"{AUTH};_read (bazar/caching.py:88);Script.__call__ (redis/commands/core.py:10917)"


def shares(*lines: str) -> dict[str, float]:
    return spy_profile.regions("\n".join(lines))[1]


def label(function: str) -> str:
    return next(region for name, region in spy_profile.REGIONS if name.startswith(function))


def test_a_sample_counts_for_the_innermost_region_on_its_stack():
    found = shares(f"{REDIS};Connection.send_packed_command (redis/connection.py:1338) 3", f"{AUTH} 1")

    assert found == {label("_read"): 0.75, label("JWTAuthentication"): 0.25}


def test_the_regions_outside_are_left_out_of_the_nested_ones():
    found = shares(
        f"{WORKER};Parser.__next__ (gunicorn/http/parser.py:119) 2",
        f"{HANDLER};Signal.send (django/dispatch/dispatcher.py:219) 1",
        f"{MIDDLEWARE};_log_request (bazar/logging.py:255) 1",
        f"{VIEW};Serializer.data (rest_framework/serializers.py:583);Field.to_representation (f.py:1) 4",
    )

    assert found == {
        spy_profile.GUNICORN: 0.25,
        label("WSGIHandler"): 0.125,
        label("_log_request"): 0.125,
        label("Serializer.data"): 0.5,
    }
    # reported from the outside in
    assert list(found) == [spy_profile.GUNICORN, label("WSGIHandler"), label("_log_request"), label("Serializer.data")]


def test_a_function_of_the_same_name_in_another_file_is_no_region():
    # gunicorn's own _read, and DRF's BaseSerializer.data (which Serializer.data calls), are not the regions' functions
    found = shares(f"{WORKER};_read (gunicorn/http/body.py:1) 1", f"{VIEW};BaseSerializer.data (x.py:1) 1")

    assert found == {spy_profile.GUNICORN: 0.5, label("APIView.dispatch"): 0.5}


def test_a_stack_read_only_in_part_counts_for_its_region_or_for_none():
    # py-spy without pausing the workers sometimes loses a stack's outer frames
    torn = "cached_user (accounts/caching.py:35);_read (bazar/caching.py:91);PickleSerializer.loads (p.py:36)"
    found = shares(
        f'process 1:"gunicorn";{torn} 2',
        'process 1:"gunicorn";Logger._log (logging/__init__.py:1) 1',
        'process 1:"gunicorn" 1',  # no frame read at all
    )

    assert found == {label("_read"): 0.5, spy_profile.TORN: 0.5}


def test_closing_the_response_is_djangos_work_not_gunicorns():
    closing = f"{WORKER};ThreadWorker.handle_request (gunicorn/workers/gthread.py:784)"
    found = shares(f"{closing};HttpResponseBase.close (django/http/response.py:346);Signal.send (d.py:1) 1")

    assert found == {label("HttpResponseBase.close"): 1.0}


@pytest.mark.parametrize("raw", ["", "\n", "py-spy> an error line\n"])
def test_no_samples_no_shares(raw):
    assert spy_profile.regions(raw) == (0, {})
