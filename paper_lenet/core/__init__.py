"""The model core: LeNet-5's layers, heads, losses, SDLM, the model and the other nets, the method registry's
low table, the accounting."""
