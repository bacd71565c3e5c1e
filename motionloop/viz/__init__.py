"""Visualisation: videos of clips side by side, mesh export, an HTML viewer, loop plots.

- render.py: `render(clips, out)` -> .mp4 / .gif / .png (MuJoCo offscreen, or a stick figure).
- mesh.py: `export_mesh(motion, out_dir, format=...)` -> per-frame OBJ / PLY / GLB meshes
  (the capsule body, or the SMPL family mesh through smplx with `body_model=`; smpl.py).
- viewer.py: `write_viewer(clips, out)` -> one self-contained HTML page; `viewer_fragment` to embed.
- plots.py: `plot_curves(records, metrics, out)` -> metric-vs-generation PNG with seed bands.

Modules import their heavy dependencies (mujoco, matplotlib, trimesh, smplx) themselves, so
importing this package is cheap and decides nothing about MUJOCO_GL (see gl.py).
"""
