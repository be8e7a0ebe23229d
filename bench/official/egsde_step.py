"""
The official EGSDE step, timed: the official code's own create_model / create_dse / Resizer /
egsde_sample (ML-GSAI/EGSDE, profiles/cat2dog), random weights (PyTorch's default init), on the
CPU. Prints one JSON line: seconds per step (median), peak RSS (ru_maxrss), threads.
    python3 bench/official/egsde_step.py --official DIR --batch 1 --steps 3 --threads 2
Used by bench/paper-size.bench.ts; needs python3-torch and an official checkout.
"""
import argparse, json, resource, sys, time

p = argparse.ArgumentParser()
p.add_argument('--official', required=True)
p.add_argument('--batch', type=int, default=1)
p.add_argument('--steps', type=int, default=3)
p.add_argument('--threads', type=int, default=2)
a = p.parse_args()
sys.path.insert(0, a.official)

import numpy as np
import torch
torch.set_num_threads(a.threads)
torch.manual_seed(0)
from guided_diffusion.script_util import create_model, create_dse
from functions.denoising import egsde_sample
from functions.resizer import Resizer

t0 = time.time()
model = create_model(image_size=256, num_class=2, num_channels=128, num_res_blocks=1, learn_sigma=True,
                     class_cond=False, attention_resolutions='16', num_heads=4, num_head_channels=64,
                     num_heads_upsample=-1, use_scale_shift_norm=True, dropout=0.0, resblock_updown=True,
                     use_fp16=False, use_new_attention_order=False).eval()
dse = create_dse(image_size=256, num_class=2, classifier_use_fp16=False, classifier_width=128, classifier_depth=2,
                 classifier_attention_resolutions='32,16,8', classifier_use_scale_shift_norm=True,
                 classifier_resblock_updown=True, classifier_pool='attention', phase='test').eval()
n = a.batch
down = Resizer((n, 3, 256, 256), 1 / 32)
up = Resizer((n, 3, 8, 8), 32)
betas = torch.from_numpy(np.linspace(0.0001, 0.02, 1000, dtype=np.float64)).float()
abar = (1 - betas).cumprod(dim=0)
abar_prev = torch.cat([torch.ones(1), abar[:-1]])
logvar = (betas * (1 - abar_prev) / (1 - abar)).clamp(min=1e-20).log()
setup = time.time() - t0

x0 = torch.randn(n, 3, 256, 256)
e = torch.randn_like(x0)
y = x0 * abar[499].sqrt() + e * (1 - abar[499]).sqrt()
times = []
for k in range(a.steps):
    i = 499 - k
    t = torch.ones(n) * i
    xt = x0 * abar[i].sqrt() + e * (1 - abar[i]).sqrt()
    s = time.time()
    y = egsde_sample(y=y, dse=dse, ls=500, die=(down, up), li=2, t=t, model=model, logvar=logvar, betas=betas,
                     xt=xt, s1='cosine', s2='neg_l2', model_name='ADM')
    times.append(time.time() - s)
times.sort()
print(json.dumps({'batch': n, 'threads': a.threads, 'stepS': times[len(times) // 2], 'allS': times, 'setupS': setup,
                  'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, 'torch': torch.__version__}))
