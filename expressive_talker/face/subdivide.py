"""One step of Loop subdivision as a linear operator, so a posed head and its morph targets go
through the same sparse matrix: the head's outline in the MP4 and the viewer is smooth, where the
2,694-vertex mesh showed its polygon corners along the scalp, cheeks and chin. It may be limited
to some triangles (those that can make the outline); their neighbours are then split conformingly.

Loop's rules (Loop 1987; boundary curves as cubic B-splines, the usual extension):
- a new vertex on an inner edge (a, b) with opposite corners c, d: 3/8 (a + b) + 1/8 (c + d);
  on a boundary edge: (a + b) / 2;
- an old vertex with n neighbours moves to (1 - n beta) v + beta * (sum of neighbours), with
  beta = (5/8 - (3/8 + cos(2 pi / n) / 4)^2) / n; on a boundary: 3/4 v + 1/8 (its two boundary
  neighbours).

Texture seams split a vertex into copies with one position and different texture coordinates. The
rules are computed on the mesh welded by position, and every copy (and every copy of a new edge
vertex) gets the same row of the operator, built on the same columns: the copies stay bitwise at
one place, so a seam cannot open into pinholes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Subdivision:
    operator: sp.csr_matrix  # (V + E, V): fine vertices from coarse ones (positions, offsets)
    triangles: np.ndarray  # (F', 3) int32, the fine mesh
    edges: np.ndarray  # (E, 2) the coarse vertices at the ends of each new vertex's edge
    parents: np.ndarray  # (fine F,) the coarse triangle each fine one lies in

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Positions, offsets or normals (V, C) -> the fine mesh's (V + E, C)."""
        return np.asarray(self.operator @ np.asarray(values, np.float32), np.float32)

    def normals(self, normals: np.ndarray) -> np.ndarray:
        """The coarse mesh's unit normals (V, 3) -> the fine mesh's (the MP4's and the viewer's):
        as smooth as the fine mesh's own, at a third of the cost."""
        fine = self(normals)
        return fine / np.linalg.norm(fine, axis=1, keepdims=True)

    def midpoints(self, values: np.ndarray) -> np.ndarray:
        """Per-vertex attributes that must not mix across seams (texture coordinates, colours):
        kept at the old vertices, halfway along the edge at the new ones."""
        values = np.asarray(values)
        return np.concatenate([values, (values[self.edges[:, 0]] + values[self.edges[:, 1]]) / 2]).astype(values.dtype)


def loop_subdivision(vertices: np.ndarray, triangles: np.ndarray, where: np.ndarray | None = None) -> Subdivision:
    """One Loop step of the triangles ``where`` is true (all by default). Their neighbours are split
    only along the edges they share with them (in two or three), so the fine mesh has no
    T-junctions: nothing to see through where subdivided and coarse triangles meet."""
    vertices = np.asarray(vertices)
    triangles = np.asarray(triangles, np.int64)
    n = len(vertices)
    where = np.ones(len(triangles), bool) if where is None else np.asarray(where, bool)
    # Weld seam copies: each vertex is named by its first copy.
    _, first, group = np.unique(vertices, axis=0, return_index=True, return_inverse=True)
    rep = first[group.ravel()]
    welded = rep[triangles]

    # Welded edges: their faces' opposite corners, which are on the boundary, which are split.
    wcorners = np.sort(welded[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    wedges, wid = np.unique(wcorners, axis=0, return_inverse=True)
    wid = wid.ravel()
    boundary_edge = np.bincount(wid, minlength=len(wedges)) == 1
    split = np.zeros(len(wedges), bool)
    split[wid[np.repeat(where, 3)]] = True
    opposite = [[] for _ in range(len(wedges))]
    for k, o in zip(wid, welded[:, [2, 0, 1]].reshape(-1)):
        opposite[k].append(o)

    # The mesh's own edges that are split: one new vertex each (a seam edge: two, with one row).
    own = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    cut = split[wid]
    edges, new_of_corner = np.unique(own[cut], axis=0, return_inverse=True)
    corner_vertex = np.full(len(own), -1, np.int64)
    corner_vertex[cut] = n + new_of_corner.ravel()
    corner_vertex = corner_vertex.reshape(-1, 3)  # per triangle: on edges (0,1), (1,2), (2,0), or -1
    wkey = {tuple(e): i for i, e in enumerate(wedges)}

    rows, cols, vals = [], [], []
    for i, (a, b) in enumerate(edges):
        ra, rb = sorted((rep[a], rep[b]))
        k = wkey[(ra, rb)]
        if boundary_edge[k] or len(opposite[k]) != 2:
            stencil = ((ra, 0.5), (rb, 0.5))
        else:
            c, d = sorted(opposite[k])
            stencil = ((ra, 3 / 8), (rb, 3 / 8), (c, 1 / 8), (d, 1 / 8))
        for col, w in stencil:
            rows.append(n + i)
            cols.append(col)
            vals.append(w)

    # Old vertices of subdivided triangles move by Loop's rule, on the welded mesh; others stay.
    moved = set(welded[where].ravel().tolist())
    neighbours: dict[int, set] = {}
    boundary_neighbours: dict[int, set] = {}
    for k, (a, b) in enumerate(wedges):
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
        if boundary_edge[k]:
            boundary_neighbours.setdefault(a, set()).add(b)
            boundary_neighbours.setdefault(b, set()).add(a)

    def stencil(v):
        if v not in moved:
            return [(v, 1.0)]
        ends = boundary_neighbours.get(v, set())
        if len(ends) == 2:
            return [(v, 3 / 4)] + [(u, 1 / 8) for u in sorted(ends)]
        if ends:  # where boundaries meet: left in place
            return [(v, 1.0)]
        m = len(neighbours[v])
        beta = (5 / 8 - (3 / 8 + np.cos(2 * np.pi / m) / 4) ** 2) / m
        return [(v, 1 - m * beta)] + [(u, beta) for u in sorted(neighbours[v])]

    for i in range(n):
        for col, w in stencil(rep[i]):
            rows.append(i)
            cols.append(col)
            vals.append(w)
    operator = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n + len(edges), n))

    fine, parents = [], []
    for parent, ((a, b, c), (ab, bc, ca)) in enumerate(zip(triangles, corner_vertex)):
        # Rotate so the split edges come first: (a,b) split, then (b,c), then (c,a).
        count = int(ab >= 0) + int(bc >= 0) + int(ca >= 0)
        while count and not (ab >= 0 and (count < 2 or bc >= 0)):
            a, b, c, ab, bc, ca = b, c, a, bc, ca, ab
        if count == 3:
            fine += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        elif count == 2:
            fine += [(b, bc, ab), (a, ab, c), (ab, bc, c)]
        elif count == 1:
            fine += [(a, ab, c), (ab, b, c)]
        else:
            fine.append((a, b, c))
        parents += [parent] * (len(fine) - len(parents))
    return Subdivision(operator=operator, triangles=np.asarray(fine, np.int32), edges=edges.astype(np.int64), parents=np.asarray(parents, np.int64))
