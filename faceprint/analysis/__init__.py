"""Face analysis: age, gender, emotion, race and anti-spoofing models, behind :class:`AttributeModel`.

One module per model family; :mod:`faceprint.analysis.analyze` runs them over many faces at once.
Nothing heavy is imported here: models load their framework and weights on first use.
"""

from __future__ import annotations
