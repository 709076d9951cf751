#!/usr/bin/env python3
"""Generates the recommender's "model": 10 recommended movie ids per user.

It stands in for the precomputed output of a collaborative-filtering model
trained on MovieLens (610 users, 9742 movies). The output is deterministic:
each user's list comes from random.Random(f"42:{user_id}") (string seeds are
hashed with SHA-512, so the result does not depend on PYTHONHASHSEED or the
platform), choosing 10 distinct ids from 1..9742.

Writes, into OUT_DIR (default: ./data):
  recommendations.csv   one line per user: "<user_id>,<m1>,<m2>,...,<m10>"
  expected.txt          a few users and the exact body /recommend/<user> must return

Usage: python3 generate_data.py [OUT_DIR]
       python3 generate_data.py --print USER_ID   (print one user's answer)
"""
import os
import random
import sys

SEED = 42
NUM_USERS = 610
NUM_MOVIES = 9742
PER_USER = 10
CHECK_USERS = (1, 2, 42, 305, 610)


def recommend(user_id):
    rng = random.Random(f"{SEED}:{user_id}")
    return rng.sample(range(1, NUM_MOVIES + 1), PER_USER)


def body(user_id):
    return ",".join(str(m) for m in recommend(user_id))


def main(argv):
    if len(argv) == 3 and argv[1] == "--print":
        print(body(int(argv[2])))
        return 0
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out_dir = argv[1] if len(argv) == 2 else "data"
    os.makedirs(out_dir, exist_ok=True)

    rows = {u: recommend(u) for u in range(1, NUM_USERS + 1)}
    # Self-check: what the server will serve.
    assert len(rows) == NUM_USERS
    for u, movies in rows.items():
        assert len(movies) == PER_USER and len(set(movies)) == PER_USER, u
        assert all(1 <= m <= NUM_MOVIES for m in movies), u

    def write(name, text):
        path = os.path.join(out_dir, name)
        with open(path + ".tmp", "w", encoding="ascii") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    write("recommendations.csv",
          "".join(f"{u},{','.join(map(str, m))}\n" for u, m in rows.items()))
    write("expected.txt",
          "".join(f"{u} {','.join(map(str, rows[u]))}\n" for u in CHECK_USERS))
    print(f"wrote {NUM_USERS} users x {PER_USER} movies to "
          f"{os.path.join(out_dir, 'recommendations.csv')}; "
          f"user 1 -> {body(1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
