"""Operations groups of MLClient, shaped like azure.ai.ml's."""
