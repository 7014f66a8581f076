"""Encryption in bulk: Fernet takes about as long as everything else a generated person
needs, so large loads encrypt in a helper process while the generator goes on."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from flask import Flask, current_app

from eldercare.core.crypto import encrypt
from eldercare.people.models import id_number_index

#: Below this many values, encrypting in-process is quicker than starting a helper.
HELPER_FROM = 50_000


def protect_ids(numbers: list[str]) -> list[tuple[str, str]]:
    """Each ID number's ciphertext and blind index, as ``Person.set_id_number`` stores them."""
    return [(encrypt(number), id_number_index(number)) for number in numbers]


def encrypt_all(values: list[str]) -> list[str]:
    return [encrypt(value) for value in values]


def _start_helper(config: dict) -> None:
    """The helper process holds an application context with the keys, nothing else."""
    app = Flask("eldercare-scale-helper")
    app.config.update(config)
    app.app_context().push()


class Encryptor:
    """Runs ``protect_ids`` and ``encrypt_all`` on chunks: in a helper process for a large
    load (spawned, not forked: a forked child would share the database connection), else
    at once in this one."""

    def __init__(self, expected: int) -> None:
        self.pool = None
        if expected >= HELPER_FROM:
            config = {
                key: current_app.config.get(key)
                for key in ("DATA_ENCRYPTION_KEY", "BLIND_INDEX_KEY")
            }
            self.pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_helper,
                initargs=(config,),
            )

    def submit(self, function: Callable[[list[str]], list], values: list[str]) -> Future:
        if self.pool is not None:
            return self.pool.submit(function, values)
        done: Future = Future()
        done.set_result(function(values))
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
