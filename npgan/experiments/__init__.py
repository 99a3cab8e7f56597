"""The training runs behind the paper's figures: they train (npgan.train) and return numbers and
samples; npgan.paper_figures draws them.

figure1      Figure 1's protocol on gauss1d: four snapshots (a)-(d) of one Trainer.
f_divergences  bimodal1d trained under each f-divergence, and the mass G puts on each mode.
"""
