"""What cells read and write, and the order and place they run in (no ipykernel here)."""
