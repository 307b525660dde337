# Makes the tiny .pth seeds committed beside this script (run with /usr/bin/python3, which has
# torch): a plain state dict, views sharing one storage, mixed dtypes, and a nested checkpoint.
import collections, os, torch
here = os.path.dirname(os.path.abspath(__file__))
def save(obj, name):
    torch.save(obj, os.path.join(here, name))
save(collections.OrderedDict(W=torch.arange(6.0).reshape(2, 3), b=torch.zeros(2)), "plain.pth")
base = torch.arange(12.0)
save({"v": base[2:8].view(2, 3), "t": base.view(3, 4).t(), "base": base}, "views.pth")
save({"h": torch.ones(3, dtype=torch.float16), "bf": torch.ones(2, dtype=torch.bfloat16),
      "i": torch.arange(3), "m": torch.tensor([True, False]), "d": torch.ones(1, dtype=torch.float64)},
     "dtypes.pth")
save({"state_dict": {"p": torch.nn.Parameter(torch.ones(2))}, "epoch": 3}, "nested.pth")
# The data.pkl of each, as seeds for fuzz_pickle (which wraps its input into a zip itself).
import zipfile
os.makedirs(os.path.join(here, "..", "pickle"), exist_ok=True)
for name in ("plain", "views", "dtypes", "nested"):
    with zipfile.ZipFile(os.path.join(here, name + ".pth")) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        open(os.path.join(here, "..", "pickle", name + ".pkl"), "wb").write(z.read(pkl))
