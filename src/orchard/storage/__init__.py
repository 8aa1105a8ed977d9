"""Storage: safe paths, datastore URIs, content-addressed snapshots and datastore access.

Everything that turns a user-supplied path into a place on disk or in a bucket goes
through ``storage.paths`` first, so a path can never escape its datastore or snapshot.
"""
