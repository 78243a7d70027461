"""A generic BPM engine over SpiffWorkflow 3.2: specs, runtime, persistence, locking, assignment, audit."""
