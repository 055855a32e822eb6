"""The router inside other people's gateways: one subpackage per gateway
(``litellm``). Each imports its gateway's package itself, so ``import
modelrouter`` never does."""
