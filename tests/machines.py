"""A Hypothesis state machine whose example runs in a savepoint rolled back at teardown:
examples do not see each other's rows, so Hypothesis can replay and shrink them (the test
itself needs the django_db mark)."""

from django.db import transaction
from hypothesis.stateful import RuleBasedStateMachine


class RolledBackMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)
