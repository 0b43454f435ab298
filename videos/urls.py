from gleepost.routes import api_route
from videos import views

urlpatterns = [
    api_route("videos", views.VideoUploadView.as_view(), "videos"),
    api_route("videos/<int:video_id>", views.VideoView.as_view(), "video"),
]
