"""How a network is trained: each pass's schedule, the steppers, train(), evaluation, seeds in lockstep, the
networks' registry entries."""
