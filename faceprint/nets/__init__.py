"""Networks shared by more than one model family: the VGG-Face backbone (recognizer and deepface's
attribute models) and face-api's networks (attributes and 68 landmarks). Nothing heavy is imported here."""
