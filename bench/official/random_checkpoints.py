"""
Random-weight checkpoints of the paper's cat2dog models, made by the official code (PyTorch's
default initialisation), for `egsde import`:
    python3 bench/official/random_checkpoints.py --official DIR --out DIR
writes afhq_dog_4m.pt and cat2dog_dse.pt (state_dicts, as the released files are).
"""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument('--official', required=True)
p.add_argument('--out', required=True)
p.add_argument('--seed', type=int, default=0)
a = p.parse_args()
sys.path.insert(0, a.official)
import torch
torch.manual_seed(a.seed)
from guided_diffusion.script_util import create_model, create_dse

model = create_model(image_size=256, num_class=2, num_channels=128, num_res_blocks=1, learn_sigma=True,
                     class_cond=False, attention_resolutions='16', num_heads=4, num_head_channels=64,
                     num_heads_upsample=-1, use_scale_shift_norm=True, dropout=0.0, resblock_updown=True,
                     use_fp16=False, use_new_attention_order=False)
dse = create_dse(image_size=256, num_class=2, classifier_use_fp16=False, classifier_width=128, classifier_depth=2,
                 classifier_attention_resolutions='32,16,8', classifier_use_scale_shift_norm=True,
                 classifier_resblock_updown=True, classifier_pool='attention', phase='test')
os.makedirs(a.out, exist_ok=True)
torch.save(model.state_dict(), os.path.join(a.out, 'afhq_dog_4m.pt'))
torch.save(dse.state_dict(), os.path.join(a.out, 'cat2dog_dse.pt'))
print(sum(t.numel() for t in model.state_dict().values()), sum(t.numel() for t in dse.state_dict().values()))
