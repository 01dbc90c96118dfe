"""Labelled image folders (Pascal-VOC XML, as LabelImg/CVAT export) for training and evaluation.

A folder holds ``images/`` + ``annotations/`` (the fdu-dev layout) or images and ``.xml`` files side by
side, matched by file stem. Every box is one hair; the label may be in ``<name>`` or ``<class>``.
Coordinates given as min > max are sorted; boxes partly outside the image are clipped to it, boxes wholly
outside or without area are dropped; each such fix is reported per file, and files that cannot be used
(no labels, malformed XML, non-numeric coordinates, unreadable images) are skipped with their reason.

Patients: images of one person must not end up on both sides of a validation split. The patient of an
image is read from its file name (see :func:`patient_of`): ``DATE_PATIENT_N`` (the fdu-dev names, e.g.
``220106_A219_1``) gives ``A219``, ``PATIENT_N`` gives ``PATIENT``, any other name is its own patient;
a regular expression with a group named ``patient`` overrides the rule.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from regrow.errors import DataFileError, InputError, NotFoundError

__all__ = [
    "IMAGE_SUFFIXES",
    "LabelledImage",
    "VocScan",
    "parse_voc",
    "patient_of",
    "scan_labelled_folder",
    "split_by_patient",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
#: DATE_PATIENT_N or PATIENT_N (date: 6-8 digits; N: the image number at that visit).
_DEFAULT_PATIENT = re.compile(r"^(?:\d{6,8}_)?(?P<patient>.+?)(?:[_-]\d{1,3})?$")


def patient_of(name: str, pattern: str | re.Pattern[str] | None = None) -> str:
    """The patient id of an image file name (stem or full name).

    Default rule: an optional leading date of 6-8 digits and ``_`` is dropped, then a trailing ``_N`` or
    ``-N`` (N of 1-3 digits, the image number) is dropped; what remains is the patient
    (``220106_A219_1`` -> ``A219``, ``smith_03`` -> ``smith``, ``IMG0042`` -> ``IMG0042``).

    Parameters
    ----------
    name : str
        File name or stem.
    pattern : str or re.Pattern, optional
        A regular expression searched in the stem; its group ``patient`` (or else its first group, or else
        the whole match) is the patient. A name it does not match is its own patient.

    Raises
    ------
    InputError
        The pattern is not a valid regular expression.
    """
    stem = Path(name).stem
    if pattern is None:
        m = _DEFAULT_PATIENT.match(stem)
        return m.group("patient") if m else stem
    try:
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    except re.error as exc:
        raise InputError.invalid("group regex", pattern, f"a valid regular expression ({exc})") from exc
    m = rx.search(stem)
    if not m:
        return stem
    if "patient" in rx.groupindex:
        return m.group("patient")
    return m.group(1) if rx.groups else m.group(0)


def parse_voc(
    path: str | os.PathLike[str],
) -> tuple[np.ndarray, list[str], tuple[int, int] | None, list[str]]:
    """Read one Pascal-VOC XML file leniently.

    Returns
    -------
    boxes : (N, 4) float array
        x0, y0, x1, y1 with min/max sorted (not yet clipped to any image).
    labels : list of str
        ``<name>`` or ``<class>`` of each box ("" when neither is given).
    size : (width, height) or None
        From ``<size>`` when present and numeric.
    notes : list of str
        What was fixed (swapped coordinates).

    Raises
    ------
    DataFileError
        Not well-formed XML, not an ``<annotation>``, or a box with a missing or non-numeric coordinate
        (the message names the object and field).
    """
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise DataFileError(f"{p}: malformed XML ({exc})", path=str(p)) from exc
    except OSError as exc:
        raise DataFileError(f"{p}: cannot be read ({exc.strerror or exc})", path=str(p)) from exc
    if root.tag != "annotation":
        raise DataFileError(
            f"{p}: the root element is <{root.tag}>, not a Pascal-VOC <annotation>", path=str(p)
        )
    size = None
    sz = root.find("size")
    if sz is not None:
        try:
            size = (int(float(sz.findtext("width") or "")), int(float(sz.findtext("height") or "")))
        except ValueError:
            size = None
    boxes, labels = [], []
    swapped = 0
    for i, obj in enumerate(root.iter("object"), start=1):
        label = (obj.findtext("name") or obj.findtext("class") or "").strip()
        bb = obj.find("bndbox")
        vals = []
        for key in ("xmin", "ymin", "xmax", "ymax"):
            txt = bb.findtext(key) if bb is not None else None
            try:
                v = float(txt)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                raise DataFileError(
                    f"{p}: object {i} has {key}={txt!r}; must be a number", path=str(p), row=i, column=key
                ) from exc
            if not np.isfinite(v):
                raise DataFileError(
                    f"{p}: object {i} has {key}={txt!r}; must be finite", path=str(p), row=i, column=key
                )
            vals.append(v)
        x0, x1 = sorted((vals[0], vals[2]))
        y0, y1 = sorted((vals[1], vals[3]))
        swapped += (vals[0] > vals[2]) or (vals[1] > vals[3])
        boxes.append((x0, y0, x1, y1))
        labels.append(label)
    notes = [f"{swapped} box(es) with min > max sorted"] if swapped else []
    return np.array(boxes, float).reshape(-1, 4), labels, size, notes


@dataclass
class LabelledImage:
    """One usable labelled image: its boxes clipped to the image (pixels), labels and patient."""

    image: Path
    annotation: Path
    boxes: np.ndarray
    labels: list[str]
    patient: str
    width: int
    height: int


@dataclass
class VocScan:
    """Result of scanning a labelled folder: usable images, per-file notes and skipped files."""

    folder: Path
    items: list[LabelledImage] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file, what was fixed)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why it cannot be used)

    @property
    def patients(self) -> list[str]:
        return sorted({it.patient for it in self.items})

    def summary(self) -> str:
        """One paragraph: how many images were usable, boxes, patients, and skipped files by reason."""
        reasons = Counter(r.split(" (")[0].split(":")[0] for _, r in self.skipped)
        n_boxes = sum(len(it.boxes) for it in self.items)
        text = (
            f"{len(self.items)} usable labelled image(s) with {n_boxes} box(es) from {len(self.patients)} "
            f"patient(s) in {self.folder}"
        )
        if self.skipped:
            text += "; skipped " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        if self.notes:
            text += f"; {len(self.notes)} file(s) fixed (see notes)"
        return text

    def report_lines(self) -> list[str]:
        """Per-file lines: ``skipped FILE: reason`` and ``note FILE: fix``."""
        return [f"skipped {f}: {r}" for f, r in self.skipped] + [f"note {f}: {n}" for f, n in self.notes]


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataFileError(f"{path}: unreadable image ({exc})", path=str(path)) from exc


def scan_labelled_folder(folder: str | os.PathLike[str], *, group_regex: str | None = None) -> VocScan:
    """Find and check every labelled image in a folder (see the module notes for the layout and rules).

    Raises
    ------
    NotFoundError
        The folder does not exist or holds no image or XML file at all.
    InputError
        ``group_regex`` is not a valid regular expression.
    """
    d = Path(folder)
    if not d.is_dir():
        raise NotFoundError(f"Folder {str(d)!r} does not exist.")
    if group_regex is not None:
        patient_of("x", group_regex)  # validate once, before the scan
    img_dir = d / "images" if (d / "images").is_dir() else d
    ann_dir = d / "annotations" if (d / "annotations").is_dir() else d
    images = {
        p.stem: p for p in sorted(img_dir.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    }
    xmls = {p.stem: p for p in sorted(ann_dir.iterdir()) if p.is_file() and p.suffix.lower() == ".xml"}
    if not images and not xmls:
        raise NotFoundError(f"No images and no Pascal-VOC .xml files in {str(d)!r}.")
    scan = VocScan(folder=d)
    for stem in sorted(set(xmls) - set(images)):
        scan.skipped.append((str(xmls[stem]), "no image: annotation without a matching image"))
    for stem, img in images.items():
        xml = xmls.get(stem)
        if xml is None:
            scan.skipped.append((str(img), "no labels: image without a matching .xml"))
            continue
        try:
            boxes, labels, size, notes = parse_voc(xml)
        except DataFileError as exc:
            msg = str(exc).split(": ", 1)[-1]
            scan.skipped.append((str(xml), f"bad annotation: {msg}"))
            continue
        try:
            w, h = _image_size(img)
        except DataFileError as exc:
            scan.skipped.append((str(img), f"unreadable image ({str(exc).split('(', 1)[-1].rstrip(')')})"))
            continue
        if size is not None and size != (w, h):
            notes.append(f"<size> says {size[0]} x {size[1]} but the image is {w} x {h}; boxes used as given")
        outside = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= w) | (boxes[:, 1] >= h)
        clipped = np.stack(
            [
                np.clip(boxes[:, 0], 0, w),
                np.clip(boxes[:, 1], 0, h),
                np.clip(boxes[:, 2], 0, w),
                np.clip(boxes[:, 3], 0, h),
            ],
            axis=1,
        )
        n_clip = int(((np.abs(clipped - boxes) > 0).any(axis=1) & ~outside).sum())
        empty = ~outside & ((clipped[:, 2] - clipped[:, 0] < 1) | (clipped[:, 3] - clipped[:, 1] < 1))
        keep = ~outside & ~empty
        if outside.any():
            notes.append(f"{int(outside.sum())} box(es) wholly outside the {w} x {h} image dropped")
        if n_clip:
            notes.append(f"{n_clip} box(es) partly outside the image clipped to it")
        if empty.any():
            notes.append(f"{int(empty.sum())} box(es) without area dropped")
        for n in notes:
            scan.notes.append((str(xml), n))
        scan.items.append(
            LabelledImage(
                image=img,
                annotation=xml,
                boxes=clipped[keep],
                labels=[lb for lb, k in zip(labels, keep, strict=True) if k],
                patient=patient_of(stem, group_regex),
                width=w,
                height=h,
            )
        )
    return scan


def split_by_patient(
    items: list[LabelledImage], *, validation_fraction: float = 0.2, seed: int = 0
) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """Split images into training and validation by patient (no patient on both sides).

    Patients are ordered by CRC32 of ``"{seed}:{patient}"`` and the first ``round(fraction * n)``
    (at least 1, at most n - 1) go to validation, so the split is fixed by the seed and the names.

    Raises
    ------
    InputError
        Fewer than 2 patients, or a fraction outside (0, 1).
    """
    if not 0 < validation_fraction < 1:
        raise InputError.invalid("validation fraction", validation_fraction, "a number in (0, 1)")
    patients = sorted({it.patient for it in items}, key=lambda p: (zlib.crc32(f"{seed}:{p}".encode()), p))
    if len(patients) < 2:
        raise InputError(
            f"Need images of at least 2 patients for a patient-level validation split; found {len(patients)} "
            f"({', '.join(patients) or 'none'}). Check the file names or pass a group regex."
        )
    n_val = min(max(1, round(validation_fraction * len(patients))), len(patients) - 1)
    val = set(patients[:n_val])
    return [it for it in items if it.patient not in val], [it for it in items if it.patient in val]
