from gitramp.main import entry

entry()
