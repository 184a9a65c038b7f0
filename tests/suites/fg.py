# fg.py PIDFILE COMMAND... - run COMMAND as a terminal's foreground job
# would start: SIGINT at its default disposition (a background job of a
# shell script inherits it ignored) and in a new process group, whose id
# (= this pid) goes to PIDFILE, so a test can send Ctrl-C to the group.
import os
import signal
import sys

signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
os.execvp(sys.argv[2], sys.argv[2:])
