# Spins forever while being imported, deaf to SIGTERM.
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    pass
