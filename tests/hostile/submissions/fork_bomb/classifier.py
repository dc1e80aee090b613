# The classic fork bomb: every process forks for ever; none gives up at the pids limit.
# It aims at the pids limit alone: with Python's collector on, each child would copy
# the parent's heap page by page (a collection writes to every object it visits), so
# that 64 interpreters could reach the memory limit first, an oom decided by a race.
# memory_bomb_child covers memory spent in children.
import gc
import os
import time


class Classifier:
    def fit(self, X, y):
        gc.disable()
        gc.freeze()  # what is left is never visited again, so never copied
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)

    def predict_proba(self, X):
        raise AssertionError("never reached")
