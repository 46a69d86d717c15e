"""Per-patch quality scores on a reduced view, and the ``qc=`` filters that use them.

Scores come from strided samples (no resampling: striding keeps the fine detail a blur
score needs): the blur score from every 4th pixel of every 4th row, the fractions from
every 8th where that leaves at least 32 a side. The extractors score in batches
(:class:`~slidepatch.extract.qc_batch.QcBatch`: the same values, a fraction of the cost):

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
_BLUR_CHUNK = 16384  # samples per chunk of the blur arithmetic (64 KB a temporary)


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
    computed by the caller). Many patches: :class:`~slidepatch.extract.qc_batch.QcBatch`
    gives the same scores for a fraction of the cost."""
    fstep = fraction_step(image.shape[0], image.shape[1], step=step)
    planes = image[::fstep, ::fstep].transpose(2, 0, 1)[None]
    (counts,) = score_views(planes, image[None, ::step, ::step, 1])
    return make_scores(counts, artifact=artifact, mask_tissue=mask_tissue)


def fraction_step(height: int, width: int, *, step: int) -> int:
    """Fractions need fewer samples than the blur score: at least 32 a side, every
    2 * step-th pixel where the patch has them (256 px: 32 x 32 for the fractions)."""
    return 2 * step if min(height, width) >= 64 * step else step


Counts = tuple[int, int, int, int, int, int, int]  # n, white, black, gray; m, sum, sum of squares


def score_views(planes: npt.NDArray[np.uint8], green: npt.NDArray[np.uint8]) -> list[Counts]:
    """The counts behind the scores of ``k`` patches at once: ``planes`` ``(k, 3, h, w)``,
    their strided R, G, B samples for the fractions; ``green`` ``(k, hb, wb)``, their
    strided green channel for the blur score. Any strides (views need no copy).

    A few whole-array numpy calls per batch, not per patch: each call costs microseconds
    of dispatch with cold caches (as between a patch's decode and encode), which a
    patch's ~1,000 samples never amortise alone. The Laplacian is computed on the
    flattened chunk (neighbours at +-1 and +-wb), so every call runs one contiguous loop;
    the rows and columns where it wraps around are zeroed before the sums. Integer
    arithmetic throughout: the sums are exact.
    """
    k = planes.shape[0]
    r, g, b = planes[:, 0], planes[:, 1], planes[:, 2]
    hi = np.maximum(r, g)
    np.maximum(hi, b, out=hi)
    lo = np.minimum(r, g)
    np.minimum(lo, b, out=lo)
    white = (lo >= WHITE_MIN).reshape(k, -1)
    black = (hi <= BLACK_MAX).reshape(k, -1)
    hi -= lo  # uint8: hi >= lo, no wrap
    gray = (hi <= GRAY_SPREAD_MAX).reshape(k, -1)
    n_white = white.sum(axis=1, dtype=np.int32).tolist()
    n_black = black.sum(axis=1, dtype=np.int32).tolist()
    white |= black
    gray &= ~white
    n_gray = gray.sum(axis=1, dtype=np.int32).tolist()
    n = max(1, white.shape[1])
    hb, wb = green.shape[1], green.shape[2]
    if hb < 3 or wb < 3:
        return [(n, n_white[i], n_black[i], n_gray[i], 0, 0, 0) for i in range(k)]
    # In chunks of ~16k samples: temporaries that stay in L1/L2 (a whole batch's would
    # evict the decoder's and encoder's working sets and cost more than they save).
    # int32 throughout, sums without casting where they cannot overflow: |lap| <= 1020.
    m = (hb - 2) * (wb - 2)
    sum_type = np.int32 if m * 1020 < 2**31 else np.int64
    square_sum_type = np.uint32 if m * 1020**2 < 2**32 else np.int64
    per = hb * wb
    chunk = max(1, _BLUR_CHUNK // per)
    x = np.empty(min(k, chunk) * per, np.int32)
    full = np.empty_like(x)
    centre = np.empty_like(x)
    s1: list[int] = []
    s2: list[int] = []
    for start in range(0, k, chunk):
        c = min(chunk, k - start)
        size = c * per
        xs, fs, cs = x[:size], full[:size], centre[:size]
        xs.reshape(c, hb, wb)[...] = green[start : start + c]
        lap = fs[wb : size - wb]  # the centre of each 4-neighbour Laplacian
        np.add(xs[: size - 2 * wb], xs[2 * wb :], out=lap)
        lap += xs[wb - 1 : size - wb - 1]
        lap += xs[wb + 1 : size - wb + 1]
        np.multiply(xs[wb : size - wb], 4, out=cs[: size - 2 * wb])
        lap -= cs[: size - 2 * wb]
        grid = fs.reshape(c, hb, wb)
        grid[:, 0] = 0
        grid[:, -1] = 0
        grid[:, :, 0] = 0
        grid[:, :, -1] = 0
        rows = fs.reshape(c, per)
        s1 += rows.sum(axis=1, dtype=sum_type).tolist()
        rows *= rows  # <= 1020^2: fits
        s2 += rows.view(np.uint32).sum(axis=1, dtype=square_sum_type).tolist()
    return [(n, n_white[i], n_black[i], n_gray[i], m, s1[i], s2[i]) for i in range(k)]


def make_scores(
    counts: Counts, *, artifact: float | None = None, mask_tissue: float | None = None
) -> QcScores:
    """A patch's scores from its :func:`score_views` counts."""
    return QcScores(**score_values(counts), artifact=artifact, mask_tissue=mask_tissue)


def score_values(counts: Counts) -> dict[str, float]:
    """The five pixel scores (rounded as they are stored) from :func:`score_views` counts."""
    n, n_white, n_black, n_gray, m, s1, s2 = counts
    # variance of the Laplacian, exact in integers: (m * sum(x^2) - sum(x)^2) / m^2
    blur = (m * s2 - s1 * s1) / (m * m) if m else 0.0
    return {
        "tissue": round((n - n_white - n_black - n_gray) / n, 6),
        "white": round(n_white / n, 6),
        "black": round(n_black / n, 6),
        "gray": round(n_gray / n, 6),
        "blur": round(blur, 3),
    }


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
