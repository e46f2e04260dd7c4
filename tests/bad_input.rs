//! Bad scenario files: each is rejected with exit code 2, a message naming
//! the file, line and field, and no change to an existing output folder.
