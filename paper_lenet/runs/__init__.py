"""Run directories: their files, their lock, what a given path holds, and the stop signals of a command."""
