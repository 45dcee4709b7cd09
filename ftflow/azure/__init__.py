"""Talking to Azure: the data plane (files, jobs, chat) and Resource Manager (deployments).

The same code talks to Azure and to the local emulator; only the settings differ.
"""
