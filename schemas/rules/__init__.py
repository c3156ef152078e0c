"""Survey rules: cadastral (CAD), property (PRP), planning (PLN), cross-survey (XSV)."""
