"""Export of Motions to the formats other tools read (BVH)."""
