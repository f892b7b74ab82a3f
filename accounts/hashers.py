from django.contrib.auth.hashers import Argon2PasswordHasher


class BazarArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id sized so that one login costs 50-100 ms of CPU on the 2-core reference machine.

    Measured with `python scripts/bench/hash_cost.py` and the login row of `make bench` (docs/benchmarks.md): one
    hash ~52 ms, a whole login request ~68 ms. Django's defaults (100 MiB, 8 lanes) cost ~235 ms there: two workers
    could then serve only ~8 logins a second. Hashes made with other parameters still verify, and are re-hashed
    with these ones at the next successful login.
    """

    time_cost = 4
    memory_cost = 24 * 1024  # KiB
    parallelism = 1
