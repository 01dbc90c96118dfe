"""Training the learned hair detector (needs the ``train`` extra: ``pip install 'regrow[train]'``).

Modules (each imports torch; nothing here is imported by ``regrow.measure`` at run time):

- ``pretrain``: from scratch on synthetic images only (how the bundled model is made);
- ``finetune``: on a clinic's own Pascal-VOC labelled images (``regrow measure train``);
- ``_net`` (the network), ``_data`` (datasets and augmentation), ``_loss``, ``_fit`` (the training loop
  with checkpoints), ``_evaluate`` (counts, matching and score calibration), ``_export`` (ONNX).
"""
