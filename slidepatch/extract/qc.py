"""Per-patch quality scores on a reduced view, and the ``qc=`` filters that use them.

Scores come from strided views (no copy, no resampling, and striding keeps the fine detail
a blur score needs): the blur score from every 4th pixel of every 4th row, the fractions
from every 8th where that leaves at least 32 a side (about 30 µs for a 256 px patch):

* ``qc_white``: fraction of pixels with every channel >= 220 (background glass);
* ``qc_black``: every channel <= 40 (ink, scanner borders);
* ``qc_gray``: low saturation (max - min channel <= 20) and neither white nor black (grey
  pen, dust, out-of-tissue haze);
* ``qc_tissue``: the rest: saturated, stained pixels;
* ``qc_blur``: variance of the 4-neighbour Laplacian of the green channel (higher is
  sharper; an out-of-focus patch scores low);
* ``qc_artifact``: with an external artifact mask (GrandQC, HistoQC...: nonzero marks an
  artifact), the fraction of the patch's level-0 footprint it covers (exact area, from
  the mask's summed-area table); empty without a mask. A patch past ``max_artifact``
  (0 by default when a mask is given) is dropped before it is even read;
* ``qc_mask_tissue``: with a tissue mask (the one the locations came from, say), the
  fraction of the footprint it marks as tissue; ``min_mask_tissue`` drops below it.

A filter drops a patch before it is encoded (for a multi-resolution set: the set, judged by
its first entry). Each slide's counts per filter go in its text manifest.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt

QC_COLUMNS = (
    "qc_tissue",
    "qc_white",
    "qc_black",
    "qc_gray",
    "qc_blur",
    "qc_artifact",
    "qc_mask_tissue",
)
QC_REASONS = ("artifact", "mask_tissue", "white", "black", "gray", "tissue", "blur")
QC_STEP = 4
WHITE_MIN = 220
BLACK_MAX = 40
GRAY_SPREAD_MAX = 20


@dataclass(frozen=True)
class QcScores:
    tissue: float
    white: float
    black: float
    gray: float
    blur: float
    artifact: float | None = None  # covered fraction of an artifact mask (None: no mask)
    mask_tissue: float | None = None  # covered fraction of a tissue mask (None: no mask)

    def values(self) -> tuple[float | None, ...]:
        return (
            self.tissue,
            self.white,
            self.black,
            self.gray,
            self.blur,
            self.artifact,
            self.mask_tissue,
        )

    def as_dict(self) -> dict[str, float | None]:
        return dict(zip(QC_COLUMNS, self.values(), strict=True))


def qc_scores(
    image: npt.NDArray[np.uint8],
    *,
    step: int = QC_STEP,
    artifact: float | None = None,
    mask_tissue: float | None = None,
) -> QcScores:
    """The scores of one RGB patch ``(h, w, 3)``, from its ``step``-strided view
    (``artifact``, ``mask_tissue``: its fractions covered by an artifact or tissue mask,
    computed by the caller)."""
    # Fractions need fewer samples than the blur score: at least 32 a side, every
    # 2 * step-th pixel where the patch has them (256 px: 32 x 32 for the fractions).
    fstep = 2 * step if min(image.shape[0], image.shape[1]) >= 64 * step else step
    view = image[::fstep, ::fstep]  # a strided view: no copy (measured cheaper than one)
    r, b = view[..., 0], view[..., 2]
    g = view[..., 1]
    hi = np.maximum(np.maximum(r, g), b)
    lo = np.minimum(np.minimum(r, g), b)
    n = max(1, hi.size)
    white = lo >= WHITE_MIN
    black = hi <= BLACK_MAX
    gray = (hi - lo) <= GRAY_SPREAD_MAX  # uint8: hi >= lo, no wrap
    n_white, n_black = int(np.count_nonzero(white)), int(np.count_nonzero(black))
    n_gray = int(np.count_nonzero(gray)) - int(np.count_nonzero(gray & (white | black)))
    blur = 0.0
    green = image[::step, ::step, 1]
    if green.shape[0] >= 3 and green.shape[1] >= 3:
        f = green.astype(np.float32)
        lap = f[:-2, 1:-1] + f[2:, 1:-1]
        lap += f[1:-1, :-2]
        lap += f[1:-1, 2:]
        lap -= 4 * f[1:-1, 1:-1]
        x = lap.ravel()
        mean = float(x.sum()) / x.size
        # no BLAS call (np.dot): its threads spin after use and cost CPU in every worker
        blur = max(0.0, float(np.square(x).sum()) / x.size - mean * mean)
    return QcScores(
        tissue=round((n - n_white - n_black - n_gray) / n, 6),
        white=round(n_white / n, 6),
        black=round(n_black / n, 6),
        gray=round(n_gray / n, 6),
        blur=round(blur, 3),
        artifact=artifact,
        mask_tissue=mask_tissue,
    )


def decode_rgb(data: bytes) -> npt.NDArray[np.uint8]:
    """Pixels of a passthrough JPEG tile, for its scores (the bytes stay as they are)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


@dataclass(frozen=True)
class QcFilter:
    """Thresholds: a patch is dropped when a score is past one (None: no such filter)."""

    max_artifact: float | None = None
    min_mask_tissue: float | None = None
    max_white: float | None = None
    max_black: float | None = None
    max_gray: float | None = None
    min_tissue: float | None = None
    min_blur: float | None = None

    @classmethod
    def create(cls, qc: Mapping[str, float] | QcFilter | None) -> QcFilter | None:
        """From ``qc=``: a mapping of the field names, or a QcFilter; None: no filter."""
        if qc is None or isinstance(qc, QcFilter):
            return qc
        if not isinstance(qc, Mapping):
            raise TypeError(f"qc must be a mapping of thresholds or a QcFilter, got {qc!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(qc) - known)
        if unknown:
            raise ValueError(f"qc: unknown threshold(s) {unknown}; known: {sorted(known)}")
        values = {}
        for name, value in qc.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"qc[{name!r}] must be a number, got {value!r}")
            if name != "min_blur" and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"qc[{name!r}] is a fraction in [0, 1], got {value!r}")
            values[name] = float(value)
        return cls(**values)

    def reason(self, s: QcScores) -> str | None:
        """The first filter that drops a patch with these scores (None: it is kept)."""
        pre = self.mask_reason(artifact=s.artifact, mask_tissue=s.mask_tissue)
        if pre is not None:
            return pre
        if self.max_white is not None and s.white > self.max_white:
            return "white"
        if self.max_black is not None and s.black > self.max_black:
            return "black"
        if self.max_gray is not None and s.gray > self.max_gray:
            return "gray"
        if self.min_tissue is not None and s.tissue < self.min_tissue:
            return "tissue"
        if self.min_blur is not None and s.blur < self.min_blur:
            return "blur"
        return None

    def mask_reason(self, *, artifact: float | None, mask_tissue: float | None) -> str | None:
        """The mask filter that drops a patch (known before its pixels are read), or None."""
        if self.max_artifact is not None and artifact is not None and artifact > self.max_artifact:
            return "artifact"
        if (
            self.min_mask_tissue is not None
            and mask_tissue is not None
            and mask_tissue < self.min_mask_tissue
        ):
            return "mask_tissue"
        return None

    def as_dict(self) -> dict[str, float]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


def with_artifact_default(qc: QcFilter | None) -> QcFilter:
    """An artifact mask excludes: without a ``max_artifact``, any overlap drops a patch."""
    if qc is None:
        return QcFilter(max_artifact=0.0)
    if qc.max_artifact is None:
        return replace(qc, max_artifact=0.0)
    return qc
