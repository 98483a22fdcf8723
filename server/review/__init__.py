"""Review of machine detections by people: the camera-trap queue, labels,
boxes, repeated false positives, sound review and the
managers' overview. Pure domain logic over a session; the API
(server/api/review.py) and the web pages (server/web/) call it."""
