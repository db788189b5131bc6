#!/usr/bin/env python3
"""Generate the legacy-api seed: users whose passwords are stored in the
formats a real legacy application accumulates over the years.

Usage (from the repository root):

    pip install -r examples/legacy-api/seed/requirements.txt
    python3 examples/legacy-api/seed/generate.py

Writes examples/legacy-api/seed/users.json. The hashes come from independent
implementations, never from Tern:

  * bcrypt (pyca)                     -> `bcrypt`      ($2b$, cost 10)
  * Python's hashlib                  -> `sha256_salted` (hex(sha256(salt + password)), the
                                         home-made scheme of an old PHP app; salt in its own column)
  * libpass (imported as `passlib`)   -> `phpass`      ($P$, WordPress / phpBB portable hashes)
                                      -> `md5_crypt`   ($1$, glibc crypt's MD5 scheme)

`demo_password` is there for the walkthrough and the tests only: the service
never loads it into its database (a real legacy store has no plaintext).
Salts are random: re-running changes the file, which is fine.
"""

import hashlib
import json
import os
import secrets
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

import bcrypt  # noqa: E402
from passlib import hash as ph  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# (id, email, username, display name, confirmed, plan, scheme, password)
PEOPLE = [
    (1, "ada@legacy.example", "ada", "Ada Lovelace", True, "gold", "bcrypt", "analytical-engine"),
    (2, "alan@legacy.example", "alan", "Alan Turing", True, "silver", "sha256_salted", "enigma-1939"),
    (3, "grace@legacy.example", "grace", "Grace Hopper", True, "gold", "phpass", "cobol-compiler"),
    (4, "edsger@legacy.example", "edsger", "Edsger Dijkstra", False, "free", "md5_crypt", "goto-harmful"),
    (5, "barbara@legacy.example", "barbara", "Barbara Liskov", True, "silver", "bcrypt", "substitution"),
    (6, "donald@legacy.example", "donald", "Donald Knuth", True, "gold", "sha256_salted", "tex-and-metafont"),
    (7, "margaret@legacy.example", "margaret", "Margaret Hamilton", True, "gold", "phpass", "apollo-guidance"),
    (8, "ken@legacy.example", "ken", "Ken Thompson", False, "free", "md5_crypt", "unix-1969"),
    (9, "frances@legacy.example", "frances", "Frances Allen", True, "silver", "bcrypt", "optimizing-compilers"),
    (10, "john@legacy.example", "john", "John Backus", True, "free", "sha256_salted", "fortran-1957"),
    (11, "radia@legacy.example", "radia", "Radia Perlman", True, "gold", "phpass", "spanning-tree"),
    (12, "tony@legacy.example", "tony", "Tony Hoare", True, "silver", "md5_crypt", "quicksort-1959"),
    # Non-ASCII password: every scheme sees its UTF-8 bytes.
    (13, "zoe@legacy.example", "zoe", "Zoë Ünal", True, "gold", "sha256_salted", "pässwörd-ñ"),
]


def hash_password(scheme, password):
    """Returns (password_hash, password_salt)."""
    if scheme == "bcrypt":
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode(), None
    if scheme == "sha256_salted":
        salt = secrets.token_hex(8)
        return hashlib.sha256((salt + password).encode()).hexdigest(), salt
    if scheme == "phpass":
        return ph.phpass.using(rounds=10).hash(password), None
    if scheme == "md5_crypt":
        return ph.md5_crypt.hash(password), None
    raise ValueError(scheme)


def main():
    users = []
    for uid, email, username, name, confirmed, plan, scheme, password in PEOPLE:
        digest, salt = hash_password(scheme, password)
        users.append(
            {
                "id": uid,
                "email": email,
                "username": username,
                "display_name": name,
                "email_confirmed": confirmed,
                "plan": plan,
                "password_scheme": scheme,
                "password_hash": digest,
                "password_salt": salt,
                "demo_password": password,
            }
        )
    out = os.path.join(HERE, "users.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "examples/legacy-api/seed/generate.py", "users": users}, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(users)} users to {out}")


if __name__ == "__main__":
    main()
