#!/usr/bin/python3
"""lmdb_lock.py - hold LMDB's writer lock on a data directory from another
process, as a long `binday import` does, for tests and bench/loop_block.py.

    with WriterLock(data_dir):      # returns once the lock is held
        ...                          # every other writer waits meanwhile

Run as a program (`lmdb_lock.py DATA`) it begins a write txn through Debian's
liblmdb (ctypes: Python's stdlib has no LMDB binding), prints "held", and
aborts the txn when its stdin closes.
"""
import ctypes
import os
import subprocess
import sys


def _hold(data_dir):
    lib = ctypes.CDLL("liblmdb.so.0")
    env, txn = ctypes.c_void_p(), ctypes.c_void_p()
    if lib.mdb_env_create(ctypes.byref(env)) != 0:
        sys.exit("mdb_env_create failed")
    lib.mdb_env_set_maxdbs(env, 64)
    rc = lib.mdb_env_open(env, data_dir.encode(), 0, 0o600)
    if rc != 0:
        sys.exit("mdb_env_open: %d" % rc)
    rc = lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn))
    if rc != 0:
        sys.exit("mdb_txn_begin: %d" % rc)
    print("held", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    lib.mdb_txn_abort(txn)
    lib.mdb_env_close(env)


class WriterLock:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.proc = None

    def acquire(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.abspath(__file__), self.data_dir],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
        if self.proc.stdout.readline().strip() != "held":
            self.proc.kill()
            raise RuntimeError("lmdb_lock: could not take the writer lock")
        return self

    def release(self):
        if self.proc:
            self.proc.stdin.close()
            self.proc.wait(30)
            self.proc = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


if __name__ == "__main__":
    _hold(sys.argv[1])
