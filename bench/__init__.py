"""Side-by-side benchmarks of an encordfs mount against ``rclone mount`` (see bench/README.md)."""
