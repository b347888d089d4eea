"""The user's tools: predict, the pictures, show-maps, transforms, the packaged weights (hub), the
benchmarks, statistics."""
