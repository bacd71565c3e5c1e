"""The motion diffusion model: denoiser network, diffusion process, training and sampling.

- `denoiser.py`: the network only (MDM-style transformer encoder, predicts x0).
- `diffusion.py`: the Gaussian diffusion process; takes the network as an argument and knows
  nothing of SMPL.
- `losses.py`: the SMPL-aware auxiliary losses (FK joint positions, velocities, foot contact).
- `config.py`, `checkpoint.py`: the training configuration and self-describing checkpoints.
- `train.py`: `train` and `fine_tune`; `sample.py`: `sample` to Motions.
"""
