//! Checks that schemas/*.schema.json match the key tables of the readers.
