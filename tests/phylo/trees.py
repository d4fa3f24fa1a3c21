"""Trees and helpers shared by the tests of jsdm_hot.phylo (not a test module)."""

from __future__ import annotations

import numpy as np

from jsdm_hot import phylo

# A small tree with hand-computable distances.
#            /- A (1)
#      (3) --|
#  root      \- B (2)
#      (6) --/- C (4)
#            \- D (5)
SMALL = "((A:1,B:2):3,(C:4,D:5):6);"

# Old (ade4 / pre-2020) tarentaise names -> Clements 2025 names. Typos, genus moves and gender agreements.
TARENTAISE_SYNONYMS = {
    "Certhia brachydactila": "Certhia brachydactyla",
    "Carduelis chloris": "Chloris chloris",
    "Parus caeruleus": "Cyanistes caeruleus",
    "Parus ater": "Periparus ater",
    "Parus montanus": "Poecile montanus",
    "Troglodutes troglodytes": "Troglodytes troglodytes",
    "Miliaria calandra": "Emberiza calandra",
    "Falco tunnnunculus": "Falco tinnunculus",
    "Carduelis cannabina": "Linaria cannabina",
    "Parus palustris": "Poecile palustris",
    "Delichon urbica": "Delichon urbicum",
    "Regulus ignicapillus": "Regulus ignicapilla",
    "Sylvia communis": "Curruca communis",
    "Saxicola torquata": "Saxicola rubicola",
    "Parus cristatus": "Lophophanes cristatus",
    "Corvus monedula": "Coloeus monedula",
    "Dendrocopos minor": "Dryobates minor",
    "Serinus citrinella": "Carduelis citrinella",
    "Carduelis flammea": "Acanthis flammea",
    "Tetrao tetryx": "Lyrurus tetrix",
    "Sylvia curruca": "Curruca curruca",
    "Lagopus mutus": "Lagopus muta",
}



def random_newick(rng: np.random.Generator, n_tips: int, *, unary: float = 0.15, polytomy: float = 0.2) -> str:
    """Random rooted tree with branch lengths, some unary nodes and polytomies."""
    nodes = [f"t{i}:{rng.uniform(0.1, 3):.6f}" for i in range(n_tips)]
    while len(nodes) > 1:
        k = 3 if (len(nodes) >= 3 and rng.random() < polytomy) else 2
        pick = sorted(rng.choice(len(nodes), size=k, replace=False).tolist(), reverse=True)
        kids = [nodes.pop(i) for i in pick]
        new = f"({','.join(kids)}):{rng.uniform(0.1, 3):.6f}"
        if rng.random() < unary:
            new = f"({new}):{rng.uniform(0.1, 3):.6f}"
        nodes.append(new)
    return nodes[0].rsplit(":", 1)[0] + ";"


def ete3_matrices(tree, tips):
    leaves = {leaf.name: leaf for leaf in tree}
    n = len(tips)
    pat = np.zeros((n, n))
    top = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = leaves[tips[i]], leaves[tips[j]]
            pat[i, j] = pat[j, i] = tree.get_distance(a, b)
            top[i, j] = top[j, i] = tree.get_distance(a, b, topology_only=True)
    return pat, top


def small_dist() -> phylo.PhyloDistances:
    """Distances of :data:`SMALL` (species A, B, C, D)."""
    return phylo.phylo_distances(phylo.read_tree(SMALL))
