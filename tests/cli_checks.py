"""What the command line's failures must look like, shared by the attack suites."""


def assert_one_npgan_line(err, *fragments):
    """stderr is one line starting with "npgan: " (no traceback) holding every fragment."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("npgan: "), err
    for fragment in fragments:
        assert fragment in lines[0], err
